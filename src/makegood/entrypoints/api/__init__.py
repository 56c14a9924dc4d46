"""The HTTP API (FastAPI): claimant intake, staff review, exports. See docs/claims.md."""
