"""The use cases: one function per thing a person can do, shared by the CLI, the window and the admin API.

Like Electrum's ``commands.py``: every front end parses its input, calls one
of these, and renders the typed result (:mod:`edge_core.ops.results`). Every
rule (policy bounds, lockout, liveness, audit, telemetry) is applied here and
nowhere else, so a rule added here holds in all three front ends at once.

* :mod:`.vaults`: open the vault, its status, lock and unlock (:mod:`.rollback`: an older copy of the folder refused);
* :mod:`.identities`: enrol, verify, identify, list, delete, threshold;
* :mod:`.keys`: rotate, reset, import/generate/export/restore/revoke/move the root;
* :mod:`.settings`: the security policy;
* :mod:`.presence`: the use cases that loosen security or destroy data, and the admin passphrase they ask for
  (:mod:`.confirmations`: how an admin API the window started asks the window for it);
* :mod:`.packs`: the model pack in use (chosen in the vault, with a stand-in when it is not installed);
* :mod:`.adminserver` (with :mod:`.apitoken`): the local admin API the window starts, and its token;
* :mod:`.children`: a ``faceseal`` command the window runs as a child process (the API, the sign-in agent);
* :mod:`.audits`: the audit log and its signed evidence;
* :mod:`.privacy`: deletion certificates and their offline check, and what FaceSeal holds about one person;
* :mod:`.consent`: the consent an enrolment needs, and the retention fixed into it; :mod:`.retention`: the sweep
  that crypto-shreds those whose retention ended, and who is due soon;
* :mod:`.telemetry`: opt-in telemetry;
* :mod:`.keyops`: the crash-safe machinery under the key operations (not for front ends).
"""

from edge_core.ops.audits import audit_export, audit_list, audit_verify, verify_assertion, verify_evidence
from edge_core.ops.consent import check as check_consent
from edge_core.ops.consent import needed as consent_needed
from edge_core.ops.consent import record as consent_record
from edge_core.ops.consent import renew as renew_consent
from edge_core.ops.consent import terms as consent_terms
from edge_core.ops.identities import (
    EXTERNAL_PACK,
    EXTERNAL_THRESHOLD,
    TEMPLATE_CAP,
    Probe,
    Source,
    admit,
    default_threshold,
    delete_identity,
    enrol,
    identify,
    list_identities,
    liveness_bands,
    liveness_models,
    liveness_needed,
    name_problem,
    pack_names,
    plan_samples,
    threshold,
    threshold_in_force,
    verify,
)
from edge_core.ops.keys import (
    apply_start_policy,
    check_exportable,
    check_kit_passphrase,
    escrow_root_into_tpm,
    export_recovery_kit,
    generate_root_key,
    import_root_key,
    kit_covers_root,
    move_root_to_hsm,
    move_root_to_keychain,
    move_root_to_tpm,
    reset,
    restore_recovery_kit,
    revocation_target,
    revoke_root_key,
    rotate,
    tpm_problem,
)
from edge_core.ops.packs import (
    PackChoice,
    PackInUse,
    check_usable,
    chosen_pack,
    pack_for,
    pack_in_use,
    use_pack,
)
from edge_core.ops.privacy import CertificateRequest, kept_certificate, subject_report, verify_certificate
from edge_core.ops.retention import REMINDER_DAYS
from edge_core.ops.retention import expiring as retention_reminder
from edge_core.ops.retention import now as retention_now
from edge_core.ops.retention import sweep as sweep_retention
from edge_core.ops.presence import PresenceProvider, Proof, asking, has_passphrase, prove, set_admin_passphrase
from edge_core.ops.settings import (
    SETTING_RULES,
    parse_policy_changes,
    policy_describe,
    policy_reset,
    policy_set,
    policy_show,
)
from edge_core.ops.vaults import (
    accept_rollback,
    is_locked,
    layout_for,
    lock,
    older_copy_asks,
    open_vault,
    root_file_notice,
    root_gone,
    status,
    unlock,
    vault_exists,
)

__all__ = [
    "accept_rollback", "admit", "asking", "has_passphrase", "PresenceProvider", "Proof", "prove",
    "set_admin_passphrase", "apply_start_policy", "audit_export", "audit_list", "audit_verify", "check_exportable", "check_usable",
    "check_kit_passphrase", "chosen_pack", "default_threshold", "delete_identity", "enrol", "escrow_root_into_tpm",
    "export_recovery_kit",
    "EXTERNAL_PACK", "EXTERNAL_THRESHOLD", "generate_root_key", "identify", "import_root_key", "is_locked",
    "kit_covers_root", "layout_for", "list_identities", "liveness_bands", "liveness_models", "liveness_needed", "lock",
    "move_root_to_hsm", "move_root_to_keychain", "move_root_to_tpm", "name_problem", "older_copy_asks", "open_vault", "pack_for", "pack_in_use",
    "pack_names", "PackChoice", "PackInUse", "parse_policy_changes", "plan_samples", "policy_describe",
    "policy_reset", "policy_set", "policy_show", "Probe", "reset", "restore_recovery_kit", "revocation_target",
    "revoke_root_key", "root_file_notice", "root_gone", "rotate", "SETTING_RULES", "Source", "status",
    "TEMPLATE_CAP", "threshold", "threshold_in_force", "tpm_problem", "unlock", "use_pack", "vault_exists", "verify",
    "verify_assertion", "verify_evidence", "CertificateRequest", "subject_report", "verify_certificate",
    "check_consent", "consent_needed", "consent_record", "consent_terms", "kept_certificate", "REMINDER_DAYS", "renew_consent",
    "retention_now", "retention_reminder", "sweep_retention",
]
