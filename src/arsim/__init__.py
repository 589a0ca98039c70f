"""arsim: a discrete-event workbench for B2B receivables and collections policy."""
