"""SavedModel export of trained zoo runs for TF Serving, and a local client."""
