import Testing
@testable import QueueCore

@Test func QueueCoreModuleLinks() {
    #expect(String(describing: QueueCoreModule.self) == "QueueCoreModule")
}
