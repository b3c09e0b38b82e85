"""Replies as plain text with numbered options, for channels without buttons (the terminal,
WhatsApp)."""

from __future__ import annotations

from handlers.conversation.messages import Choice, ClearChat, Document, Reply, Text


def render(reply: Reply) -> str:
    """A reply as text: choices numbered, hints in brackets. These channels cannot delete
    messages, so a ClearChat says how to do it by hand."""
    if isinstance(reply, Text):
        return f"\n{reply.text}"
    if isinstance(reply, ClearChat):
        return f"\n{reply.cannot}"
    if isinstance(reply, Document):
        return f"\n[{reply.name}, {reply.content_type}]"
    lines = ["", reply.text]
    if isinstance(reply, Choice):
        for number, option in enumerate(reply.options, 1):
            mark = ""
            if reply.multiple:
                mark = "[x] " if option.value in reply.selected else "[ ] "
            lines.append(f"  {number}. {mark}{option.label}")
    if reply.hint:
        lines.append(f"  ({reply.hint})")
    return "\n".join(lines)
