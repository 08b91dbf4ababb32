import Testing
@testable import Queue

@Test func QueueModuleLinks() {
    #expect(String(describing: QueueModule.self) == "QueueModule")
}
