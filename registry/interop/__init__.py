"""Interoperability with other privacy tools: vendors and disclosures as Fides (fideslang) systems."""
