"""Who may change the data from the app: anyone on one's own machine; on a shared server, nobody, or an operator.

Every write action (Update all, Fetch from police.uk and rebuild, Rebuild the store now,
the trust-table upload and its Save) asks :func:`can_write` before it is drawn:

- **Own machine** (nothing set, as the README's ``streamlit run app.py``): they are shown.
- **Shared server, read only**: ``CRIME_TRUST_READ_ONLY=1`` removes them from every page
  for everyone; the store is then updated from the command line
  (``python -m data_sources update``, e.g. nightly from cron). It wins over a password.
- **Shared server with an operator**: ``operator_password_hash`` in
  ``.streamlit/secrets.toml`` hides them until someone enters the password (for that
  browser session only). Only a salted PBKDF2 hash is stored, made with
  ``python -m ui.access`` (it asks for the password and prints the line to paste).

What is checked is the session, on the server: a visitor cannot show a hidden button by
editing the page, because Streamlit draws and runs only what the script draws.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import secrets

import streamlit as st

READ_ONLY_ENV = "CRIME_TRUST_READ_ONLY"
SECRET = "operator_password_hash"
ITERATIONS = 200_000
_UNLOCKED = "_operator_unlocked"


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` for ``password`` (a fresh random salt by default)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant-time; False for a bad hash)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        again = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)


def read_only() -> bool:
    """Whether ``$CRIME_TRUST_READ_ONLY`` asks for a read-only app."""
    return os.environ.get(READ_ONLY_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _stored_hash() -> str | None:
    try:
        value = st.secrets.get(SECRET)
    except FileNotFoundError:  # no secrets.toml at all
        return None
    return str(value) if value else None


def can_write() -> bool:
    """Whether this session may see and use the actions that change the store."""
    if read_only():
        return False
    return _stored_hash() is None or bool(st.session_state.get(_UNLOCKED))


def access_panel() -> None:
    """Say when the page is read only, and offer the operator's password box when one is set."""
    if read_only():
        st.info("Read only: on this server the data is updated by its operator from the command line "
                "(`python -m data_sources update`), not from the app.")
        return
    stored = _stored_hash()
    if stored is None:
        return
    if st.session_state.get(_UNLOCKED):
        st.caption("Operator controls unlocked for this browser session.")
        if st.button("Lock the operator controls", key="operator_lock"):
            st.session_state.pop(_UNLOCKED, None)  # the controls below are not drawn in this run
        return
    st.info("Read only for visitors: the data is updated by the operator. Operators, enter the password to "
            "show the update, rebuild and upload controls.")
    with st.form("operator_form"):
        password = st.text_input("Operator password", type="password", key="operator_password")
        go = st.form_submit_button("Unlock", key="operator_unlock")
    if go:  # checked before the controls below are drawn, so they appear in this run
        if check_password(password or "", stored):
            st.session_state[_UNLOCKED] = True
            st.success("Unlocked for this browser session.")
        else:
            st.error("That is not the operator password; nothing was unlocked.")


if __name__ == "__main__":  # python -m ui.access: make the line for .streamlit/secrets.toml
    first = getpass.getpass("Operator password: ")
    if not first or first != getpass.getpass("Again: "):
        raise SystemExit("error: the two entries differ (or are empty); nothing was printed")
    print(f'{SECRET} = "{hash_password(first)}"')
