/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system, user, assistant
    }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: text) }
}

/// Why a chat template could not be used.
public struct ChatTemplateError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The chat formats TokenMill renders natively (Jinja is not run: the model's `tokenizer.chat_template` is
/// recognised by telltale substrings and the matching format is produced in Swift, without tool calls).
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (Qwen2/2.5, SmolLM2). When the conversation does not start with a
    /// system message, `defaultSystemPrompt` (if any) is put first, as those templates do.
    case chatml(defaultSystemPrompt: String?)
    /// Llama 3: `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`, contents trimmed, BOS first.
    case llama3
    /// Llama 3.1 and later: as Llama 3 but always with a system block that starts with
    /// "Cutting Knowledge Date: December 2023\nToday Date: <date>\n\n".
    case llama31(dateString: String)
    /// DeepSeek-R1 and its distills: BOS, the system prompt, `<｜User｜>q<｜Assistant｜>a<｜end▁of▁sentence｜>`…;
    /// the generation prompt `<｜Assistant｜><think>\n` opens the reasoning. Earlier answers lose their reasoning
    /// (text up to the last `</think>`).
    case deepseekR1

    /// Qwen2.5 Instruct's ChatML with its default system prompt.
    public static let qwen25 = ChatTemplate.chatml(defaultSystemPrompt: qwen25SystemPrompt)
    public static let qwen25SystemPrompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

    /// Recognises the format of a Jinja chat template (the text of `tokenizer.chat_template`).
    public static func detect(from jinja: String?) throws -> ChatTemplate {
        guard let t = jinja, !t.isEmpty else {
            throw ChatTemplateError("the model has no chat template (metadata key 'tokenizer.chat_template' is missing)")
        }
        if t.contains("<｜User｜>") && t.contains("<｜Assistant｜>") {
            return .deepseekR1
        }
        if t.contains("<|start_header_id|>") && t.contains("<|eot_id|>") {
            if t.contains("Cutting Knowledge Date") {
                return .llama31(dateString: literal(after: "set date_string = \"", in: t, until: "\"") ?? "26 Jul 2024")
            }
            return .llama3
        }
        if t.contains("<|im_start|>") {
            // ChatML variants that manage reasoning themselves (Qwen3, QwQ, SmolLM3) would be rendered wrongly.
            guard !t.contains("<think>") else {
                throw ChatTemplateError("unsupported ChatML template with its own <think> handling (as in Qwen3, QwQ, "
                    + "SmolLM3); supported: plain ChatML as in Qwen2.5/SmolLM2; it starts with: \(start(of: t))")
            }
            return .chatml(defaultSystemPrompt: chatmlDefaultSystemPrompt(t))
        }
        throw ChatTemplateError("unrecognised chat template (supported: ChatML as in Qwen2.5/SmolLM2, Llama 3, "
            + "DeepSeek-R1); it starts with: \(start(of: t))")
    }

    private static func start(of t: String) -> String {
        var start = String(t.prefix(120))
        if t.count > 120 { start += "…" }
        return start.debugDescription
    }

    /// The literal system text a ChatML template puts in when the conversation has none, if it has one:
    /// a `<|im_start|>system` + newline + plain text + `<|im_end|>` inside one string literal.
    static func chatmlDefaultSystemPrompt(_ t: String) -> String? {
        let marker = "<|im_start|>system"
        var rest = Substring(t)
        while let r = rest.firstRange(of: marker) {
            var after = rest[r.upperBound...]
            rest = after
            if after.hasPrefix("\\n") {
                after = after.dropFirst(2)
            } else if after.hasPrefix("\n") {
                after = after.dropFirst(1)
            } else {
                continue
            }
            guard let end = after.firstRange(of: "<|im_end|>") else { continue }
            let text = after[..<end.lowerBound]
            if text.isEmpty || text.contains(where: { "'\"{}+\n".contains($0) }) { continue }
            return String(text)
        }
        return nil
    }

    private static func literal(after prefix: String, in t: String, until end: Character) -> String? {
        guard let r = t.firstRange(of: prefix) else { return nil }
        let rest = t[r.upperBound...]
        guard let e = rest.firstIndex(of: end) else { return nil }
        return String(rest[..<e])
    }

    /// Renders a conversation. `bosToken` is written where the template writes `bos_token` (Llama 3,
    /// DeepSeek-R1); leave it empty when the tokenizer adds BOS itself (see `Tokenizer.encodeChat`).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String = "") -> String {
        var out = ""
        switch self {
        case .chatml(let defaultSystem):
            if messages.first?.role != .system, let d = defaultSystem {
                out += "<|im_start|>system\n" + d + "<|im_end|>\n"
            }
            for m in messages {
                out += "<|im_start|>" + m.role.rawValue + "\n" + m.content + "<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for (i, m) in messages.enumerated() {
                if i == 0 { out += bosToken }
                out += "<|start_header_id|>" + m.role.rawValue + "<|end_header_id|>\n\n" + ChatTemplate.trim(m.content)
                    + "<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .llama31(let date):
            out += bosToken
            var rest = messages[...]
            var system = ""
            if let first = rest.first, first.role == .system {
                system = ChatTemplate.trim(first.content)
                rest = rest.dropFirst()
            }
            out += "<|start_header_id|>system<|end_header_id|>\n\n"
            out += "Cutting Knowledge Date: December 2023\nToday Date: " + date + "\n\n" + system + "<|eot_id|>"
            for m in rest {
                out += "<|start_header_id|>" + m.role.rawValue + "<|end_header_id|>\n\n" + ChatTemplate.trim(m.content)
                    + "<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .deepseekR1:
            out += bosToken
            // The last system message is the system prompt, placed before the conversation.
            if let s = messages.last(where: { $0.role == .system }) { out += s.content }
            for m in messages {
                switch m.role {
                case .system:
                    break
                case .user:
                    out += "<｜User｜>" + m.content
                case .assistant:
                    var content = Substring(m.content)
                    if let r = content.ranges(of: "</think>").last {
                        content = content[r.upperBound...]
                    }
                    out += "<｜Assistant｜>" + content + "<｜end▁of▁sentence｜>"
                }
            }
            if addGenerationPrompt { out += "<｜Assistant｜><think>\n" }
        }
        return out
    }

    /// Whether the generation prompt already opens a reasoning block (`<think>\n`), so the model starts thinking.
    public var generationPromptOpensThinking: Bool {
        if case .deepseekR1 = self { return true }
        return false
    }

    /// Whether `render` writes `bos_token` itself.
    public var writesBOS: Bool {
        switch self {
        case .chatml: return false
        case .llama3, .llama31, .deepseekR1: return true
        }
    }

    /// Jinja's `trim`: strips leading and trailing whitespace.
    static func trim(_ s: String) -> String {
        var sub = Substring(s)
        while let f = sub.first, f.isWhitespace { sub = sub.dropFirst() }
        while let l = sub.last, l.isWhitespace { sub = sub.dropLast() }
        return String(sub)
    }
}

extension Tokenizer {
    /// The chat format of this model's `tokenizer.chat_template`.
    public func chatTemplate() throws -> ChatTemplate {
        try ChatTemplate.detect(from: chatTemplateSource)
    }

    /// Renders and tokenizes a conversation: control tokens in the rendered text are parsed, and BOS is added
    /// once (by the tokenizer when it adds BOS, otherwise by the template where it writes one).
    public func encodeChat(_ messages: [ChatMessage], template: ChatTemplate, addGenerationPrompt: Bool = true) -> [Int32] {
        let bosText = (template.writesBOS && !addBOS) ? bosID.map { tokenText($0) } ?? "" : ""
        let text = template.render(messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosText)
        return encode(text, addSpecial: true, parseSpecial: true)
    }
}
