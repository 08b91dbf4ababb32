import Reasoning
import Tokenizers

/// A prompt ready for the engine.
public struct BuiltPrompt: Sendable {
    public var text: String
    public var tokens: [Int32]
    /// True when the prompt ends inside the thinking block (after the opening marker).
    public var startsInThinking: Bool
}

/// Turns a payload into prompt tokens: chat template (default) or raw text, the instruction, and (marker
/// mode) the opening thinking marker appended so that instruct models start by thinking.
public enum PromptBuilder {
    /// - Parameter mode: `.plain` asks for step-by-step reasoning and a `\boxed{}` answer and opens no marker;
    ///   `.none` adds nothing to the conversation (no instruction, no marker).
    /// - Parameter budgetHint: a thinking budget to state in the instruction (`budget.hint`), or nil.
    /// - Parameter effort: how much reasoning the default instruction asks for (`budget.effort`), and for
    ///   `minimal` the worked examples shown before a `prompt` item in chat mode; a payload's own instruction
    ///   is used as it is, without examples.
    public static func build(_ p: GeneratePayload, tokenizer: Tokenizer, template: Result<ChatTemplate, Error>,
                             openMarker: String, mode: ReasoningMode = .markers, budgetHint: Int? = nil,
                             effort: ReasoningEffort = .high) throws -> BuiltPrompt {
        let asked = p.instruction ?? effort.instruction(mode: mode) ?? ""
        var instruction = asked
        // The hint joins the instruction; with `messages`, where only a payload's own instruction is
        // appended, it is appended alone.
        let hint = budgetHint.flatMap { mode == .none ? nil : GeneratePayload.budgetHint(thinkingTokens: $0) }
        if let hint { instruction += (instruction.isEmpty ? "" : " ") + hint }
        var text: String
        if p.chat ?? true {
            var tpl: ChatTemplate
            switch template {
            case .success(let t): tpl = t
            case .failure(let e):
                throw GenerateError.model("cannot apply a chat template (\(e)); set \"chat\": false to send the prompt as raw text")
            }
            var messages: [ChatMessage]
            if let ms = p.messages, !ms.isEmpty {
                messages = try ms.map { m in
                    guard let role = ChatMessage.Role(rawValue: m.role) else {
                        throw GenerateError.badPayload("unknown message role '\(m.role)' (use system, user or assistant)")
                    }
                    return ChatMessage(role: role, content: m.content)
                }
                let appended = p.instruction != nil ? instruction : hint
                if let appended, let i = messages.lastIndex(where: { $0.role == .user }) {
                    messages[i] = .user(messages[i].content + "\n\n" + appended)
                }
            } else if let prompt = p.prompt {
                // `minimal` effort: its worked examples first (the payload's `budget.examples`, else the built-in
                // ones), each asked as the item is (without a budget hint).
                var shown = p.instruction == nil ? effort.demonstrations(mode: mode) : []
                if !shown.isEmpty, let own = p.budget?.examples, !own.isEmpty { shown = own.map { ($0.question, $0.answer) } }
                messages = shown.flatMap { [.user(asked.isEmpty ? $0.question : $0.question + "\n\n" + asked), .assistant($0.answer)] }
                messages.append(.user(instruction.isEmpty ? prompt : prompt + "\n\n" + instruction))
            } else {
                throw GenerateError.badPayload("neither \"prompt\" nor \"messages\" is given")
            }
            // Qwen3 switches thinking itself: off (`enable_thinking` false, an empty block closed in the
            // prompt) when no reasoning is wanted; in marker mode a `/no_think` in the conversation is left
            // to the model, which then writes the empty block itself.
            var openThinking = mode == .markers
            if case .qwen3 = tpl {
                tpl = .qwen3(enableThinking: mode != .none)
                if ChatTemplate.qwen3ThinkingSwitch(messages) == false { openThinking = false }
            }
            // BOS once: by the tokenizer when it adds one, else where the template writes it.
            let bos = (tpl.writesBOS && !tokenizer.addBOS) ? tokenizer.bosID.map { tokenizer.tokenText($0) } ?? "" : ""
            text = tpl.render(messages, addGenerationPrompt: true, bosToken: bos)
            if openThinking, !endsWithMarker(text, openMarker) { text += openMarker + "\n" }
        } else {
            guard let prompt = p.prompt ?? p.messages?.map(\.content).joined(separator: "\n") else {
                throw GenerateError.badPayload("neither \"prompt\" nor \"messages\" is given")
            }
            text = prompt
        }
        let tokens = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
        return BuiltPrompt(text: text, tokens: tokens, startsInThinking: mode == .plain || endsWithMarker(text, openMarker))
    }

    static func endsWithMarker(_ text: String, _ marker: String) -> Bool {
        var t = Substring(text)
        while let last = t.last, last == "\n" || last == " " { t = t.dropLast() }
        return t.hasSuffix(marker)
    }
}
