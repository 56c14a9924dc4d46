"""Plain words for the codes claimants and staff read: categories, statuses, checks, reasons.

Each text is an English message id of the catalogue (marked with ``N_`` for extraction); pages
translate it when they show it. A code without words here is shown with the service's own text.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message


CATEGORIES = {
    "paid_service": N_("A paid service was interrupted"),
    "free_service_loss": N_("I lost money through a free service"),
    "business_sales": N_("My business lost sales"),
    "missed_communication": N_("I missed a message, mail or invitation"),
    "payment_failed": N_("A payment failed"),
    "partner_login": N_("I could not log in to a partner site"),
    "other": N_("Something else, or not a damage claim (a question or a complaint)"),
}

CATEGORY_HELP = {
    "paid_service": N_("Paid subscriptions are usually compensated automatically: check first."),
    "free_service_loss": N_("Describe the loss and attach proof, such as a receipt."),
    "business_sales": N_("Small businesses: give the outage week's sales and earlier weeks'."),
    "missed_communication": N_("Say what you missed and when; attach the message if you have it."),
    "payment_failed": N_("Give the time of the payment and attach the failure notice."),
    "partner_login": N_("Name the partner site and what you could not do."),
    "other": N_("Questions and complaints are read too; no amount is needed."),
}

KINDS = {
    "individual": N_("An individual"),
    "small_business": N_("A small business"),
    "enterprise": N_("A larger company"),
}

NO_PREVIEW = {  # why a PDF evidence file has no preview (adapters/pdf_preview.py)
    "too_large": N_("the file is too large to preview; download it."),
    "encrypted": N_("the PDF is protected by a password; download it."),
    "unreadable": N_("the PDF cannot be read; download it to check it."),
    "no_pages": N_("the PDF has no pages."),
}

STATUSES = {
    "submitted": N_("Received, waiting for review"),
    "info_requested": N_("We need more information from you"),
    "pending_second_approval": N_("Approved by a reviewer, waiting for a second approval"),
    "approved": N_("Approved"),
    "denied": N_("Denied"),
    "appealed": N_("Appealed, waiting for a supervisor"),
}

CHECKS = {
    "ACCOUNT_FOUND": N_("We found your account."),
    "ACCOUNT_UNKNOWN": N_("We could not find this account in our records."),
    "SERVICE_HELD": N_("Your account used this service at the time you named."),
    "SERVICE_NOT_HELD": N_("Your account did not use this service at the time you named."),
    "SERVICE_NOT_AFFECTED": N_("This service was not affected by the incident."),
    "OVERLAP": N_("The time you named overlaps the outage."),
    "NO_OVERLAP": N_("The time you named does not overlap the outage."),
    "PAID": N_("This is a paid subscription."),
    "FREE": N_("This is a free service."),
    "LEDGER_UNAVAILABLE": N_("Automatic compensation has not been computed yet."),
    "LEDGER_COVERED": N_("You already receive automatic compensation for this service."),
    "LEDGER_NOT_COVERED": N_("You receive no automatic compensation for this service."),
    "LOSS_NO_RULE": N_("Sales losses are reviewed one by one."),
    "LOSS_NO_SALES": N_("No weekly sales were given."),
    "LOSS_NO_BASELINE": N_("None of the earlier weeks you gave is in the comparison period."),
    "LOSS_NONE": N_("The sales you gave show no loss in the outage week."),
    "LOSS_BRACKET": N_("Your loss falls in a bracket with a fixed amount."),
    "LOSS_REVIEW": N_("Your loss is above the brackets and will be reviewed individually."),
}

CHECK_NAMES = {"account": N_("account"), "service": N_("service held"),
               "overlap": N_("outage overlap"), "paid": N_("paid or free"),
               "ledger": N_("automatic compensation"), "loss": N_("sales loss")}

OUTCOMES = {"pass": N_("passed"), "fail": N_("did not pass"), "info": N_("for information")}

REASONS = {
    "NOT_A_CUSTOMER": N_("We could not find you among our customers."),
    "SERVICE_NOT_HELD": N_("You did not use the service at the time named."),
    "OUTSIDE_OUTAGE": N_("The time named is outside the outage."),
    "ALREADY_COMPENSATED": N_("You are already compensated automatically."),
    "NO_PROOF_OF_LOSS": N_("There is no proof of the loss."),
    "CURE_EXPIRED": N_("The information we asked for did not arrive in time."),
    "DUPLICATE": N_("The same claim was filed before."),
    "FRAUD": N_("The claim failed our fraud checks."),
    "NOT_A_CLAIM": N_("This is not a damage claim; we have passed it on."),
    "OTHER": N_("Another reason, explained in the note."),
}

ACTIONS = {"approve": N_("approved"), "deny": N_("denied"),
           "request_info": N_("asked for more information"),
           "send_back": N_("sent back to review")}

STAGES = {"review": N_("review"), "second_approval": N_("second approval"),
          "appeal": N_("appeal")}

PAYOUT = {"account_credit": N_("Credit to my account with the operator"),
          "bank": N_("Bank transfer")}

SEVERITIES = {"outage": N_("outage"), "degraded": N_("degraded"),
              "maintenance": N_("maintenance")}

AWARD_KINDS = {"extension": N_("free extension"), "credit": N_("credit"), "cash": N_("cash"),
               "refund": N_("refund"), "item": N_("gift"),
               "review": N_("individual review")}

UNITS = {"day": N_("{amount} days"), "hour": N_("{amount} hours"),
         "KRW": N_("{amount} won"), "in-app cash": N_("{amount} in-app cash")}

# Why the worker skipped a step of a notice's chain (services.notices writes these reasons).
SKIP_REASONS = {"blast radius": N_("blast radius: {services} down"),
                "circuit open": N_("circuit open: the channel failed too often in a row")}
