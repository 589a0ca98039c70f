"""The world and the policy as validated data: the schema, YAML files and --set overrides, and the field reference."""
