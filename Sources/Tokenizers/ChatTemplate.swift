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
    /// Qwen3 (hybrid thinking): ChatML; answers after the last user message keep their reasoning as
    /// `<think>\nreasoning\n</think>\n\n` (the last one always, with an empty block if it has none),
    /// earlier answers lose it. With `enableThinking` false (the template's `enable_thinking`) the
    /// generation prompt closes an empty reasoning block, `<think>\n\n</think>\n\n`. The soft
    /// switches `/think` and `/no_think` stay in the text (`qwen3ThinkingSwitch` reads them).
    case qwen3(enableThinking: Bool)

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
        if t.contains("<|im_start|>") && t.contains("enable_thinking is false") && t.contains("<think>\\n\\n</think>\\n\\n")
            && t.contains("last_query_index") && t.contains("reasoning_content") {
            return .qwen3(enableThinking: true)
        }
        if t.contains("<|im_start|>") {
            // Other ChatML variants that manage reasoning themselves (Qwen3, QwQ, SmolLM3) would be rendered wrongly.
            guard !t.contains("<think>") else {
                throw ChatTemplateError("unsupported ChatML template with its own <think> handling (as in QwQ, "
                    + "SmolLM3); supported: plain ChatML as in Qwen2.5/SmolLM2, and Qwen3's; it starts with: \(start(of: t))")
            }
            return .chatml(defaultSystemPrompt: chatmlDefaultSystemPrompt(t))
        }
        throw ChatTemplateError("unrecognised chat template (supported: ChatML as in Qwen2.5/SmolLM2, Qwen3, Llama 3, "
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
        case .qwen3(let enableThinking):
            out += ChatTemplate.renderQwen3(messages)
            if addGenerationPrompt {
                out += "<|im_start|>assistant\n"
                if !enableThinking { out += "<think>\n\n</think>\n\n" }
            }
        }
        return out
    }

    /// Qwen3's conversation (without the generation prompt), as its template writes it without tools.
    static func renderQwen3(_ messages: [ChatMessage]) -> String {
        var out = ""
        if let first = messages.first, first.role == .system {
            out += "<|im_start|>system\n" + first.content + "<|im_end|>\n"
        }
        // The last user message that is not a tool response; answers after it keep their reasoning.
        let lastQuery = messages.lastIndex { m in
            m.role == .user && !(m.content.hasPrefix("<tool_response>") && m.content.hasSuffix("</tool_response>"))
        } ?? messages.count - 1
        for (i, m) in messages.enumerated() {
            switch m.role {
            case .user:
                out += "<|im_start|>user\n" + m.content + "<|im_end|>\n"
            case .system:
                if i > 0 { out += "<|im_start|>system\n" + m.content + "<|im_end|>\n" }
            case .assistant:
                var content = Substring(m.content)
                var reasoning: Substring = ""
                if m.content.contains("</think>") {
                    // content.split('</think>')[-1].lstrip('\n'), and the text between the last <think> before
                    // the first </think> and that </think>, newlines trimmed.
                    content = strip(m.content.ranges(of: "</think>").last.map { m.content[$0.upperBound...] } ?? "", leading: true)
                    let beforeClose = strip(m.content[..<m.content.firstRange(of: "</think>")!.lowerBound], trailing: true)
                    let afterOpen = beforeClose.ranges(of: "<think>").last.map { beforeClose[$0.upperBound...] } ?? beforeClose
                    reasoning = strip(afterOpen, leading: true)
                }
                if i > lastQuery && (i == messages.count - 1 || !reasoning.isEmpty) {
                    out += "<|im_start|>assistant\n<think>\n" + strip(reasoning, leading: true, trailing: true) + "\n</think>\n\n"
                        + strip(content, leading: true)
                } else {
                    out += "<|im_start|>assistant\n" + content
                }
                out += "<|im_end|>\n"
            }
        }
        return out
    }

    /// Python's `str.strip('\n')` / `lstrip` / `rstrip`: newlines only.
    private static func strip(_ s: Substring, leading: Bool = false, trailing: Bool = false) -> Substring {
        var r = s.unicodeScalars  // by scalar: "\r\n" is one Character but only its "\n" goes
        if leading { while r.first == "\n" { r = r.dropFirst() } }
        if trailing { while r.last == "\n" { r = r.dropLast() } }
        return Substring(r)
    }

    /// Qwen3's soft thinking switch: true when the latest `/think` or `/no_think` in the system and user
    /// messages is `/think`, false when it is `/no_think`, nil when there is none (the model follows the
    /// most recent instruction).
    public static func qwen3ThinkingSwitch(_ messages: [ChatMessage]) -> Bool? {
        var latest: Bool?
        for m in messages where m.role != .assistant {
            let think = m.content.ranges(of: "/think").last?.lowerBound
            let noThink = m.content.ranges(of: "/no_think").last?.lowerBound
            switch (think, noThink) {
            case let (t?, n?): latest = t > n
            case (_?, nil): latest = true
            case (nil, _?): latest = false
            case (nil, nil): break
            }
        }
        return latest
    }

    /// Whether the generation prompt already opens a reasoning block (`<think>\n`), so the model starts thinking.
    public var generationPromptOpensThinking: Bool {
        if case .deepseekR1 = self { return true }
        return false
    }

    /// Whether `render` writes `bos_token` itself.
    public var writesBOS: Bool {
        switch self {
        case .chatml, .qwen3: return false
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

extension ChatTemplate {
    /// Qwen3's chat template as the released models carry it in `tokenizer.chat_template` (Qwen3-0.6B;
    /// the same text is in llama.cpp's models/templates/Qwen-Qwen3-0.6B.jinja). TokenMill does not run
    /// it; it recognises it (`detect`) and renders its output natively (`.qwen3`). The tiny qwen3
    /// test models carry it.
    public static let qwen3Source = #"""
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in message.content %}
                {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
                {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}
"""#
}
