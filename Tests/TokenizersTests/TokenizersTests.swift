import Testing
@testable import Tokenizers

@Test func TokenizersModuleLinks() {
    #expect(String(describing: TokenizersModule.self) == "TokenizersModule")
}
