"""The operator's rules: the MAC-protected policy file (``rules``), the failed-attempt lockout
(``lockout``) and the match threshold chosen per pack (``thresholds``). Only :mod:`edge_core.ops` applies them."""
