import Testing
@testable import TensorKernels

@Test func TensorKernelsModuleLinks() {
    #expect(String(describing: TensorKernelsModule.self) == "TensorKernelsModule")
}
