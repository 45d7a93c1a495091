"""One file per migration; each names the revision it follows (down_revision)."""
