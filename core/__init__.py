"""The bottom layer every stage shares: the contract between stages and small helpers.

``core`` imports none of ``pipeline``, ``seq2seq``, ``serving`` or ``nmt``; they
all may import it. ``core.contract`` names what one stage writes and the next
one reads (special ids, the run folder, TFRecord features, the export's
signatures and assets, version folders).
"""
