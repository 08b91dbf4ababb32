import Testing
@testable import PostgresClient

@Test func PostgresClientModuleLinks() {
    #expect(String(describing: PostgresClientModule.self) == "PostgresClientModule")
}
