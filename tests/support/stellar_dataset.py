"""Programmatic Stellar data sets for the fake Horizon / Stellar Expert servers.

A ``Dataset`` is one network's ledger state (current accounts) plus its full operation history. The
fake Horizon serves the part of that history at or above ``elder_ledger`` (retention window); the fake
Stellar Expert sees everything (it has full history). Builders keep ledgers strictly increasing so
operation ids are valid TOIDs (``ledger << 32 | tx << 12 | op``) and therefore paging tokens.

Addresses are real StrKeys (derived deterministically from a name) so clients that validate
addresses accept them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from decimal import Decimal
from typing import Any

from stellar_sdk import Keypair

ROOTS = {
    "public": "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7",
    "testnet": "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
}
PASSPHRASES = {
    "public": "Public Global Stellar Network ; September 2015",
    "testnet": "Test SDF Network ; September 2015",
}
GENESIS_CLOSE = dt.datetime(2015, 9, 30, 16, 46, 54, tzinfo=dt.timezone.utc)
LEDGER_SECONDS = 5
PAYMENT_TYPES = {
    "create_account",
    "payment",
    "path_payment_strict_receive",
    "path_payment_strict_send",
    "account_merge",
}
TYPE_I = {"create_account": 0, "payment": 1, "account_merge": 8}


def address(name: str) -> str:
    """A valid, deterministic G-address for a readable test name."""
    return Keypair.from_raw_ed25519_seed(hashlib.sha256(name.encode()).digest()).public_key


def toid(ledger: int, tx: int = 1, op: int = 1) -> int:
    return (ledger << 32) | (tx << 12) | op


def amount(value: Decimal | str | int) -> str:
    """Horizon's 7-decimal amount string."""
    return f"{Decimal(value):.7f}"


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Op:
    id: int
    type: str
    source: str
    created_at: dt.datetime
    fields: dict[str, Any]
    participants: tuple[str, ...]
    tx_hash: str

    @property
    def ledger(self) -> int:
        return self.id >> 32


@dataclasses.dataclass
class AccountState:
    account_id: str
    balance: Decimal
    sequence: int
    last_modified_ledger: int
    home_domain: str | None = None
    flags: dict[str, bool] = dataclasses.field(
        default_factory=lambda: {
            "auth_required": False,
            "auth_revocable": False,
            "auth_immutable": False,
            "auth_clawback_enabled": False,
        }
    )
    thresholds: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"low_threshold": 0, "med_threshold": 0, "high_threshold": 0}
    )
    master_weight: int = 1
    extra_signers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    other_balances: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    data: dict[str, str] = dataclasses.field(default_factory=dict)
    sponsor: str | None = None
    num_sponsoring: int = 0
    num_sponsored: int = 0


class Dataset:
    """One network: current account states, full op history, Stellar Expert directory."""

    def __init__(
        self, network: str = "public", *, root: str | None = None, root_balance: str = "100000000000.0000000"
    ) -> None:
        self.network = network
        self.root = root or ROOTS[network]
        self.passphrase = PASSPHRASES.get(network, "Fake Network")
        self.accounts: dict[str, AccountState] = {}
        self.ops: list[Op] = []
        self.directory: dict[str, dict[str, Any]] = {}
        self.elder_ledger = 2  # full history by default (genesis ledger is 1, first tx in ledger 3)
        self.latest_ledger = 2
        self._tx_in_ledger = 0
        # Genesis: the root exists without any create_account operation.
        self.accounts[self.root] = AccountState(self.root, Decimal(root_balance), 0, 1)

    # ---------------------------------------------------------------- time / ids
    def close_time(self, ledger: int) -> dt.datetime:
        return GENESIS_CLOSE + dt.timedelta(seconds=LEDGER_SECONDS * (ledger - 1))

    def _next_id(self, ledger: int | None) -> int:
        if ledger is None:
            ledger = self.latest_ledger + 1
        if ledger < self.latest_ledger:
            raise ValueError(f"ledger {ledger} is before the latest ledger {self.latest_ledger}")
        if ledger > self.latest_ledger:
            self.latest_ledger, self._tx_in_ledger = ledger, 0
        self._tx_in_ledger += 1
        return toid(ledger, self._tx_in_ledger, 1)

    def _add_op(
        self, type_: str, source: str, fields: dict[str, Any], participants: tuple[str, ...], ledger: int | None
    ) -> Op:
        op_id = self._next_id(ledger)
        op = Op(op_id, type_, source, self.close_time(op_id >> 32), fields, participants, secrets.token_hex(32))
        self.ops.append(op)
        return op

    # ---------------------------------------------------------------- operations
    def create_account(
        self, funder: str, account: str, starting_balance: str = "10", *, ledger: int | None = None
    ) -> Op:
        if funder not in self.accounts:
            raise ValueError(f"funder {funder} does not exist")
        if account in self.accounts:
            raise ValueError(f"account {account} already exists")
        start = Decimal(starting_balance)
        op = self._add_op(
            "create_account",
            funder,
            {"starting_balance": amount(start), "funder": funder, "account": account},
            (funder, account),
            ledger,
        )
        self.accounts[funder].balance -= start
        self.accounts[funder].last_modified_ledger = op.ledger
        self.accounts[account] = AccountState(account, start, op.ledger << 32, op.ledger)
        return op

    def payment(self, source: str, to: str, value: str, *, ledger: int | None = None) -> Op:
        op = self._add_op(
            "payment",
            source,
            {"asset_type": "native", "from": source, "to": to, "amount": amount(value)},
            (source, to),
            ledger,
        )
        self.accounts[source].balance -= Decimal(value)
        if to in self.accounts:
            self.accounts[to].balance += Decimal(value)
        return op

    def merge(self, account: str, into: str, *, ledger: int | None = None) -> Op:
        op = self._add_op("account_merge", account, {"account": account, "into": into}, (account, into), ledger)
        self.accounts[into].balance += self.accounts.pop(account).balance
        return op

    def set_options(self, op_source: str, *, ledger: int | None = None) -> Op:
        """A non-payment op (appears in /operations only)."""
        return self._add_op("set_options", op_source, {}, (op_source,), ledger)

    # ---------------------------------------------------------------- state tweaks
    def state(self, account: str) -> AccountState:
        return self.accounts[account]

    def add_trustline(
        self, account: str, code: str, issuer: str, balance: str = "0", limit: str = "922337203685.4775807"
    ) -> None:
        kind = "credit_alphanum4" if len(code) <= 4 else "credit_alphanum12"
        self.accounts[account].other_balances.append(
            {
                "balance": amount(balance),
                "limit": limit,
                "buying_liabilities": "0.0000000",
                "selling_liabilities": "0.0000000",
                "last_modified_ledger": self.latest_ledger,
                "is_authorized": True,
                "is_authorized_to_maintain_liabilities": True,
                "is_clawback_enabled": False,
                "asset_type": kind,
                "asset_code": code,
                "asset_issuer": issuer,
            }
        )

    def add_pool_share(self, account: str, pool_id: str, balance: str = "1") -> None:
        self.accounts[account].other_balances.append(
            {
                "balance": amount(balance),
                "limit": "922337203685.4775807",
                "last_modified_ledger": self.latest_ledger,
                "asset_type": "liquidity_pool_shares",
                "liquidity_pool_id": pool_id,
            }
        )

    def list_in_directory(self, account: str, name: str, tags: list[str], domain: str | None = None) -> None:
        entry: dict[str, Any] = {"address": account, "name": name, "tags": list(tags)}
        if domain:
            entry["domain"] = domain
        self.directory[account] = entry

    # ---------------------------------------------------------------- views
    def horizon_account(self, account: str) -> dict[str, Any] | None:
        st = self.accounts.get(account)
        if st is None:
            return None
        signers = list(st.extra_signers)
        if st.master_weight > 0:  # Horizon omits the master key when its weight is 0
            signers.append({"weight": st.master_weight, "key": account, "type": "ed25519_public_key"})
        native = {
            "balance": amount(st.balance),
            "buying_liabilities": "0.0000000",
            "selling_liabilities": "0.0000000",
            "asset_type": "native",
        }
        body: dict[str, Any] = {
            "id": account,
            "account_id": account,
            "sequence": str(st.sequence),
            "sequence_ledger": st.last_modified_ledger,
            "sequence_time": str(int(self.close_time(st.last_modified_ledger).timestamp())),
            "subentry_count": len(st.other_balances) + len(st.extra_signers) + len(st.data),
            "last_modified_ledger": st.last_modified_ledger,
            "last_modified_time": iso(self.close_time(st.last_modified_ledger)),
            "thresholds": dict(st.thresholds),
            "flags": dict(st.flags),
            "balances": [*st.other_balances, native],  # native last, as in Horizon's examples
            "signers": signers,
            "data": dict(st.data),
            "num_sponsoring": st.num_sponsoring,
            "num_sponsored": st.num_sponsored,
            "paging_token": "",
        }
        if st.home_domain is not None:
            body["home_domain"] = st.home_domain
        if st.sponsor is not None:
            body["sponsor"] = st.sponsor
        return body

    def ops_for(self, account: str, *, payments_only: bool) -> list[Op]:
        return [op for op in self.ops if account in op.participants and (not payments_only or op.type in PAYMENT_TYPES)]

    def expert_account(self, account: str) -> dict[str, Any] | None:
        """Stellar Expert's account stats (full history; creator absent for genesis)."""
        creates = [op for op in self.ops if op.type == "create_account" and op.fields["account"] == account]
        if account != self.root and not creates:
            return None
        related = self.ops_for(account, payments_only=True)
        first_ledger = creates[0].ledger if creates else 1
        body: dict[str, Any] = {
            "account": account,
            "created": int(self.close_time(first_ledger).timestamp()),
            "payments": len(related),
            "trades": 0,
            "activity": {"yearly": "low", "monthly": "none"},
        }
        if creates:
            body["creator"] = creates[0].fields["funder"]
        if account not in self.accounts:
            body["deleted"] = True
        if related:
            body["assets"] = ["XLM"]
        return body
