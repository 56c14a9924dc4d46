"""Bank and billing files for payouts, the bank's reports read back, and the final accounting."""
