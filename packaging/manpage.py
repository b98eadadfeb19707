"""``man faceseal``, written from the command line's own argparse parser at build time.

Every command, its arguments and its help come from the parser the program
runs (``edge_core.cli.main.build_parser`` plus the launcher's commands), so the
page cannot drift from the program. What a parser does not know (the data it
keeps, its environment, exit codes, what uninstalling leaves behind) is the
fixed text below.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

from edge_core.cli.exitcodes import EXIT_CODES

FILES_AND_ENVIRONMENT = """\
.SH FILES
.TP
.I ~/.local/share/faceseal
The sealed vault, its audit log, policy and preferences (\\fBFACESEAL_HOME\\fR moves it).
.TP
.I ~/.local/share/faceseal/models
Model packs installed by \\fBfaceseal models install\\fR (\\fBFACESEAL_MODELS\\fR moves it).
.TP
.I /opt/faceseal
The program, its libraries and the bundled model pack; nothing there is written at run time.
.SH ENVIRONMENT
.TP
.B FACESEAL_HOME
The data folder, instead of ~/.local/share/faceseal.
.TP
.B FACESEAL_MODELS
The folder model packs are installed into and read from.
.TP
.B FACESEAL_ROOT_KEY
A root key given as 64 hex digits, used when the OS keychain is not available.
.TP
.B FACESEAL_HSM_PIN
The PIN of a PKCS#11 token holding the root key.
"""

UNINSTALLING = """\
.SH UNINSTALLING
Removing the package (\\fBapt remove faceseal\\fR, \\fBdnf remove faceseal\\fR,
\\fBzypper remove faceseal\\fR) removes /opt/faceseal and the launcher only.
It leaves your data folder (~/.local/share/faceseal: the sealed templates, the audit log,
your model packs) and the root key's entry in the OS keychain alone, so a later
install finds them again. To erase them deliberately, run
\\fBfaceseal reset\\fR before uninstalling (it asks for confirmation).
"""


def render(parser: argparse.ArgumentParser, version: str, date: float | None = None) -> str:
    """The man page (roff, section 1) for ``parser``."""
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() if date is None else date))
    out = [f'.TH FACESEAL 1 "{day}" "faceseal {version}" "User Commands"',
           ".SH NAME", f"faceseal \\- {_text(parser.description or '')}",
           ".SH SYNOPSIS", ".B faceseal", "[\\fIOPTIONS\\fR] [\\fICOMMAND\\fR ...]",
           ".SH DESCRIPTION",
           "With no command and a screen, \\fBfaceseal\\fR opens the FaceSeal window; "
           "otherwise it runs one command and exits. \\fBfaceseal self\\-test\\fR checks an installation "
           "without touching your data.",
           ".SH OPTIONS"]
    out += _options(parser)
    out.append(".SH COMMANDS")
    for words, command in commands(parser):
        out += [".TP", f".B faceseal {_text(words)}", _text(command.description or "")]
        usage = command.format_usage().split(" ", 1)[1].strip()
        out += [".RS", ".PP", f"Usage: \\fB{_text(' '.join(usage.split()))}\\fR"]
        out += _options(command)
        out.append(".RE")
    return "\n".join(out) + "\n" + FILES_AND_ENVIRONMENT + exit_status() + UNINSTALLING


def exit_status() -> str:
    """The EXIT STATUS section: every code of :data:`EXIT_CODES` with its meaning."""
    lines = [".SH EXIT STATUS"]
    for code, meaning in EXIT_CODES.items():
        lines += [".TP", f".B {code}", _text(meaning)]
    return "\n".join(lines) + "\n"


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command as ("identities list", its parser), in the parser's order."""
    for action in parser._actions:  # argparse offers no public walk of its sub-commands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words = f"{prefix} {name}".strip()
                if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    if sub.get_default("handler") is not None:  # runs itself too ("pad-eval" and "pad-eval verify")
                        yield words, sub
                    yield from commands(sub, words)
                else:
                    yield words, sub


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        if action.option_strings:
            names = ", ".join(action.option_strings)
            metavar = "" if action.nargs == 0 else f" \\fI{_text(str(action.metavar or action.dest.upper()))}\\fR"
            label = f"\\fB{_text(names)}\\fR{metavar}"
        else:
            label = f"\\fI{_text(str(action.metavar or action.dest))}\\fR"
        # as argparse shows it: "%(default)s" filled in, "%%" a percent sign
        text = action.help % dict(vars(action), prog=parser.prog) if action.help and "%" in action.help else action.help
        lines += [".TP", label, *([_text(text)] if text else [])]
    return lines


def _text(text: str) -> str:
    """Text safe inside roff: backslashes and hyphens escaped, no line read as a request."""
    escaped = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + escaped if escaped.startswith((".", "'")) else escaped
