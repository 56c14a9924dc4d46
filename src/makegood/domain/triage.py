"""Triage labels: is a report a damage claim, and if so, of which kind.

In 2022, 67.8 % of 105,116 damage reports were not damage claims at all: questions, complaints,
encouragement (DOMAIN.md). The text classifier (``adapters/text``) predicts one of the labels
below; a damage label is one of the claim categories of :class:`~makegood.domain.claims.Category`,
and every other label means "not a damage claim" (its category is ``other``).

Standard library only.
"""

from __future__ import annotations

from enum import StrEnum

from makegood.domain.claims import Category


class Label(StrEnum):
    """What a report's text is about: six kinds of damage and four kinds of non-claim."""

    PAID_SERVICE = "paid_service"
    FREE_SERVICE_LOSS = "free_service_loss"
    BUSINESS_SALES = "business_sales"
    MISSED_COMMUNICATION = "missed_communication"
    PAYMENT_FAILED = "payment_failed"
    PARTNER_LOGIN = "partner_login"
    QUESTION = "question"
    COMPLAINT = "complaint"
    ENCOURAGEMENT = "encouragement"
    OTHER = "other"


NOT_DAMAGE = frozenset({Label.QUESTION, Label.COMPLAINT, Label.ENCOURAGEMENT, Label.OTHER})


def is_damage(label: Label) -> bool:
    """A damage claim names a loss; a question, a complaint, encouragement or anything else does not."""
    return label not in NOT_DAMAGE


def category(label: Label) -> Category:
    """The claims service's category for a label (``other`` for every non-claim)."""
    return Category.OTHER if label in NOT_DAMAGE else Category(label.value)
