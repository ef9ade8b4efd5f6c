"""Settings: defaults, config file, profile, role, environment and flags made into one validated Config."""
