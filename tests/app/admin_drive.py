"""Driving the Admin page: opening one of its sections and waiting for it to be read."""

from __future__ import annotations


def admin_section(window, title: str):
    """Open Admin › ``title``; returns the section."""
    window.show_page("Admin")
    return window.admin.open_section(title)
