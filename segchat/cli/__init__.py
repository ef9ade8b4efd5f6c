"""The command line: arguments, the one error boundary, one-shot questions, session flags."""
