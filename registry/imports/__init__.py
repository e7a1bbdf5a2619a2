"""Bulk import of vendors, contracts and disclosures from CSV and XLSX, all or nothing per file."""
