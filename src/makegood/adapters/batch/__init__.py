"""adapters/batch"""
