"""The flow machinery shared by every self-service flow."""
