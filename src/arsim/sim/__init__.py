"""One replication of the simulation: random streams, behaviour, policy rules, agenda, collectors, model."""
