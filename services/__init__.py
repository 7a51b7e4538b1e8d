"""picentral's domain: everything that works without a screen (never imports textual)."""
