"""A local stand-in for Microsoft Entra ID: client-credentials tokens and the tenant's keys."""
