"""adapters/importers"""
