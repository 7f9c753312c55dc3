"""What pages share to show training: the Training panel (panel), its figure specs (plots),
Descend's controls (descend), the loss landscape (landscape) and lesson 7's parts (lesson)."""
