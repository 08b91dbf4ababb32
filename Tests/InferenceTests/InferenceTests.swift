import Testing
@testable import Inference

@Test func InferenceModuleLinks() {
    #expect(String(describing: InferenceModule.self) == "InferenceModule")
}
