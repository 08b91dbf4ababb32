import Testing
@testable import GGUF

@Test func GGUFModuleLinks() {
    #expect(String(describing: GGUFModule.self) == "GGUFModule")
}
