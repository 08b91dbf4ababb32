// TEMPORARY until the tokenizer branch's ChatTemplate lands.
public struct ChatMessage { public var role: String; public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content } }
public enum ChatTemplate { case chatml
    static func detect(from s: String?) throws -> ChatTemplate { .chatml }
    func render(_ m: [ChatMessage], addGenerationPrompt: Bool) -> String {
        m.map { "<|im_start|>\($0.role)\n\($0.content)<|im_end|>\n" }.joined() + (addGenerationPrompt ? "<|im_start|>assistant\n" : "") } }
