"""Pure renderings of workflow views: the Temporal UI's current details, history notes
and email contexts. No I/O and no Temporal imports: workflows call them, tests read them."""
