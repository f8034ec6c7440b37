"""Qt widgets only: they show state and emit intent signals. They own neither the player, the
engine nor any database; app/ wires them. From the engine they import only engine.types."""
