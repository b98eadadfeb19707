"""Every exit status of ``faceseal``, with its meaning: the one list the README's table and the man page's
EXIT STATUS are held to (``tests/cli/test_exit_codes.py`` checks both against the program's own codes).

A failure's code is its error's ``exit_code`` (:mod:`edge_core.errors`); a decision's is chosen by its command
(no match, liveness check failed, audit log tampered with).
"""

from __future__ import annotations

SUCCESS = 0
REFUSED = 1
NO_MATCH = 10
LIVENESS_FAILED = 11
INTERNAL_ERROR = 70
INTERRUPTED = 130
OUTPUT_CLOSED = 141
"""128 + SIGPIPE, what a shell reports for a command whose reader went away."""

EXIT_CODES: dict[int, str] = {
    SUCCESS: "success (verify, identify: a match)",
    REFUSED: "refused: the name is not enrolled, or already is (enroll without --add); a look-alike is enrolled "
             "(enroll --allow-look-alike); too many failed attempts "
             "(the lockout); the admin passphrase is wrong; no camera could be opened; the admin API could not "
             "start; no sign-in agent runs, or it refused the attempt; telemetry or the self-test failed",
    2: "bad input (a wrong argument, file or photo; a request the policy forbids)",
    3: "key problem (no root key, a wrong or revoked one, the vault is locked)",
    4: "unreadable or tampered data (an audit log or policy changed outside FaceSeal, too)",
    5: "model problem (a pack missing or damaged)",
    6: "the disk (or your quota) is full; nothing stored was lost: free space and retry",
    NO_MATCH: "no match",
    LIVENESS_FAILED: "liveness check failed",
    INTERNAL_ERROR: "internal error (a bug: please report it)",
    INTERRUPTED: "interrupted (Ctrl-C)",
    OUTPUT_CLOSED: "standard output closed early (piped into `head`); quiet",
}
