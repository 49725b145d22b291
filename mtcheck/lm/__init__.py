"""The language model: token surprisal, entropy and rank, edit scoring, hidden states; the model store; the
unigram table for SLOR; fluency on the calibrated 0-100 scale."""
