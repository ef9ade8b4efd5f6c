"""What the command line and the chat share: session listing, showing, exporting, choosing."""
