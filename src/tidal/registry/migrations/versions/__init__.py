"""One module per schema revision, oldest first: 0001 versions + audit, 0002 approvals + tokens."""
