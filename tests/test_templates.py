"""The WhatsApp templates an operator submits (`sigap whatsapp templates`, docs/DEPLOY.md):
one for every kind the bot sends on its own, numbered as WhatsApp accepts, with exactly the
variables the code fills, and the guide showing what the command prints."""

from __future__ import annotations

import ast
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.config import TEMPLATE_KINDS
from handlers.i18n import available
from handlers.templates import BY_KIND, TEMPLATES, placeholders
from storage.models import MessageKind

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "DEPLOY.md"
BEGIN = "<!-- sigap whatsapp templates: begin -->"
END = "<!-- sigap whatsapp templates: end -->"


def test_every_kind_sent_outside_the_window_has_one_template() -> None:
    assert [t.kind for t in TEMPLATES] == TEMPLATE_KINDS


def test_each_body_numbers_its_variables_as_whatsapp_accepts() -> None:
    for template in TEMPLATES:
        expected = [str(n) for n in range(1, len(template.variables) + 1)]
        for language in available():
            body = template.text(language)
            assert body != template.body or language == "en", (template.kind, language)
            assert placeholders(body) == expected, (template.kind, language, body)
            # WhatsApp refuses a body that starts or ends with a variable, or two side by side.
            assert not body.startswith("{{") and not body.endswith("}}"), body
            assert "}}{{" not in body.replace(" ", ""), body


def kind_in(node: ast.AST) -> MessageKind | None:
    """The MessageKind.X written in a call's arguments or a dict's values, if one is."""
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Attribute)
            and isinstance(child.value, ast.Name)
            and child.value.id == "MessageKind"
        ):
            return MessageKind[child.attr]
    return None


def keys_of(node: ast.expr | None) -> list[str] | None:
    """The keys of a dict literal ("1", "2"...), or of the dicts a call chooses among, [] for
    no variables; None for anything else."""
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return []
    if isinstance(node, ast.Dict):
        return [k.value for k in node.keys if isinstance(k, ast.Constant)]
    if isinstance(node, ast.Call):  # a choice among dicts, e.g. by language in the database
        dicts = [a.value if isinstance(a, ast.DictComp) else a for a in node.args]
        keys = [keys_of(d) for d in dicts if isinstance(d, ast.Dict)]
        if keys and all(k == keys[0] for k in keys):
            return keys[0]
    return None


def queued_variables() -> dict[MessageKind, set[tuple[str, ...]]]:
    """Every place the code queues a message of a kind sent on its own, read from the source:
    `outbox.enqueue(..., MessageKind.X, ..., variables={...})`, `Outbox(kind=..., variables=
    ...)`, a row built as a dict ({"kind": MessageKind.X, "variables": {...}}), and the alerts'
    `template_variables`."""
    found: dict[MessageKind, set[tuple[str, ...]]] = {}
    for path in [
        p for folder in ("bot", "handlers", "storage") for p in (ROOT / folder).rglob("*.py")
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            kind, keys = None, None
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Outbox":
                given = {k.arg: k.value for k in node.keywords}
                kind, keys = (
                    kind_in(given.get("kind", ast.Constant(None))),
                    keys_of(given.get("variables")),
                )
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "enqueue":
                given = {k.arg: k.value for k in node.keywords}
                value = given.get("variables")
                if (
                    isinstance(value, ast.Call)
                    and getattr(value.func, "id", None) == "template_variables"
                ):
                    continue  # the alerts', read below
                kind, keys = kind_in(ast.Tuple(elts=node.args, ctx=ast.Load())), keys_of(value)
            elif isinstance(node, ast.Dict):
                fields = {
                    k.value: v
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant)
                }
                if "kind" in fields and "variables" in fields:
                    kind, keys = kind_in(fields["kind"]), keys_of(fields["variables"])
            elif isinstance(node, ast.FunctionDef) and node.name == "template_variables":
                returned = next(n for n in ast.walk(node) if isinstance(n, ast.Return))
                keys = keys_of(returned.value)
                for alert in (MessageKind.ALERT, MessageKind.FOLLOWUP):
                    found.setdefault(alert, set()).add(tuple(keys or ["?"]))
                continue
            if kind is None or kind is MessageKind.REPLY:
                continue
            assert keys is not None, f"{path}:{node.lineno}: variables not written as a dict"
            found.setdefault(kind, set()).add(tuple(keys))
    return found


def test_each_kind_is_queued_with_exactly_its_templates_variables() -> None:
    queued = queued_variables()
    assert sorted(queued) == sorted(TEMPLATE_KINDS)  # every kind found: the search works
    for kind, variants in queued.items():
        expected = tuple(str(n) for n in range(1, len(BY_KIND[kind].variables) + 1))
        assert variants == {expected}, kind


def test_the_deployment_guide_shows_what_the_command_prints() -> None:
    printed = CliRunner().invoke(main, ["whatsapp", "templates"])
    assert printed.exit_code == 0, printed.output
    assert "### `alert`" in printed.output and "Body (id):" in printed.output
    guide = DEPLOY.read_text(encoding="utf-8")
    assert BEGIN in guide and END in guide
    shown = guide.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert shown == printed.output, (
        "docs/DEPLOY.md's templates differ from `sigap whatsapp templates`: paste its output "
        "between the markers"
    )
