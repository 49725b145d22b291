"""Evidence for detection: MT-artifact rules, the language model's edit gain, the learned tagger's word ratings."""
