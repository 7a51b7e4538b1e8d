"""picentral's Textual app: screens, widgets, styles and the CLI entry point."""
