"""The profile API: what the storefront's backend may read about a customer, and who may."""
