"""The model pack in use: one choice per vault, shared by the command line, the window and the admin API.

Which pack finds and embeds faces decides which templates can be matched (a
template is only ever compared with a probe of the pack that made it), so the
choice is kept inside the vault (the encrypted ``meta`` table, beside the
chosen thresholds) and changing it is audited (``pack_chosen``), like any other
setting. Nothing else keeps a copy: the window reads and sets it here too.

Which pack a capture uses is decided once, here (:func:`pack_in_use`):

* a pack the caller names (``--pack``) is that pack;
* else the vault's chosen pack, while it is installed;
* else the manifest's default pack, while it is installed;
* else an installed pack (``open`` first): the front end says which, and how
  to choose one (:meth:`PackInUse.notice`);
* none installed: the chosen (or default) pack, whose loading then says how
  to install it.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_core.audit import chain as audit
from edge_core.biometrics import default_pack_name, list_packs, pack_info
from edge_core.biometrics.errors import PackNotInstalled
from edge_core.ops.results import Result, optional
from edge_core.ops.vaults import open_vault, vault_exists
from edge_core.policy.thresholds import EXTERNAL_PACK
from edge_core.support.database import get_meta, set_meta
from edge_core.vault.store import Vault

CHOICE = "pack_in_use"
"""The ``meta`` key of the vault's chosen pack (absent: none chosen)."""
FALLBACK_FIRST = "open"
"""The pack used first when neither the chosen nor the default pack is installed: its licence asks nothing."""


@dataclass(frozen=True)
class PackInUse(Result):
    """The pack a capture uses, the vault's choice (None: none made) and the pack it stands in for, if any."""

    pack: str
    chosen: str | None
    default: str
    instead_of: str | None = optional()
    """The chosen (else the default) pack, not installed: ``pack`` is used in its place."""

    @property
    def reason(self) -> str | None:
        """Why ``pack`` stands in for another ("the default pack 'yunet512' is not installed"), or None."""
        if self.instead_of is None:
            return None
        which = "chosen" if self.instead_of == self.chosen else "default"
        return f"the {which} pack '{self.instead_of}' is not installed"

    def notice(self, how: str) -> str | None:
        """The one line saying a pack stands in for another (``how``: where to choose one), or None."""
        return None if self.reason is None else f"using model pack '{self.pack}': {self.reason} ({how})"


@dataclass(frozen=True)
class PackChoice(Result):
    """What ``models use`` did: the pack now in use, the one before, and who must be enrolled again."""

    status: str
    """"chosen" or "unchanged"."""
    pack: str
    previous: str
    stranded: dict[str, int]
    """People enrolled with another pack, by pack: they are not recognised with ``pack`` until enrolled again."""

    def summary(self) -> str:
        lines = [f"model pack '{self.pack}' is now in use" if self.status == "chosen"
                 else f"model pack '{self.pack}' was already in use"]
        for pack, people in sorted(self.stranded.items()):
            lines.append(f"{people} {'person is' if people == 1 else 'people are'} enrolled with {pack}; "
                         f"they must be enrolled again to be recognised with {self.pack}")
        return "\n".join(lines)


def chosen_pack(vault: Vault | None) -> str | None:
    """The vault's chosen pack, or None (no choice, or no vault open)."""
    return None if vault is None else get_meta(vault.conn, CHOICE)


def pack_in_use(chosen: str | None, requested: str | None = None) -> PackInUse:
    """The pack a capture uses (the rule in the module's docstring); ``chosen`` is :func:`chosen_pack`'s answer.

    Takes the choice rather than the vault so that a window whose vault is
    locked can still say which pack it would use (the last choice it read).
    """
    default = default_pack_name()
    if requested:
        return PackInUse(requested, chosen, default)
    wanted = chosen or default
    installed = [info.name for info in list_packs() if info.installed]
    for candidate in (wanted, default):
        if candidate in installed:
            return PackInUse(candidate, chosen, default, None if candidate == wanted else wanted)
    if not installed:
        return PackInUse(wanted, chosen, default)  # loading it says how to install it
    stand_in = FALLBACK_FIRST if FALLBACK_FIRST in installed else installed[0]
    return PackInUse(stand_in, chosen, default, wanted)


def pack_for(requested: str | None = None) -> PackInUse:
    """:func:`pack_in_use` for a command that has no vault open: the choice is read from the vault when there is
    one (opened to read only: nothing is created), and none is needed when ``requested`` names the pack."""
    if requested or not vault_exists():
        return pack_in_use(None, requested)
    with open_vault(reading=True) as vault:
        return pack_in_use(chosen_pack(vault))


def check_usable(name: str) -> None:
    """Refuse a pack that cannot be chosen (unknown: UnknownPack; not installed: PackNotInstalled), before a
    front end opens anything to choose it."""
    info = pack_info(name)  # an unknown name: UnknownPack, with the known ones
    if not info.installed:
        consent = " (FaceSeal carries it: installing it only asks you to accept its licence)" \
            if info.awaits_consent else ""
        raise PackNotInstalled(f"model pack '{name}' is not installed, so it cannot be used; install it first with "
                               f"'faceseal models install {name}'{consent}")


def use_pack(vault: Vault, name: str) -> PackChoice:
    """Choose the pack every front end uses (audited); an unknown or uninstalled pack is refused, nothing changed."""
    check_usable(name)
    before = chosen_pack(vault)
    previous = pack_in_use(before).pack
    if before != name:
        with vault.writing() as tx:
            set_meta(tx, CHOICE, name)
            audit.append(tx, "pack_chosen", pack=name, previous=before)
    return PackChoice("chosen" if before != name else "unchanged", name, previous, stranded(vault, name))


def pin_stand_in(vault: Vault, pack: str) -> None:
    """After an enrolment with ``pack``: while no choice was made and the default pack is not installed, the pack
    that enrolled someone becomes the choice (audited). Installing the default later must not switch packs under
    the people enrolled with the stand-in, who would then silently stop being recognised."""
    if chosen_pack(vault) is not None or pack == EXTERNAL_PACK or pack == default_pack_name():
        return
    if pack_info(default_pack_name()).installed:
        return
    with vault.writing() as tx:
        set_meta(tx, CHOICE, pack)
        audit.append(tx, "pack_chosen", pack=pack, previous=None, why="first enrolment without the default pack")


def stranded(vault: Vault, pack: str) -> dict[str, int]:
    """How many people have templates of another pack than ``pack`` (``external`` embeddings aside), by pack."""
    counts: dict[str, int] = {}
    for person in vault.list_identities():
        if person.pack and person.pack not in (pack, EXTERNAL_PACK):
            counts[person.pack] = counts.get(person.pack, 0) + 1
    return counts
