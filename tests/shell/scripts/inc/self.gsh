# inc/self.gsh — sources itself: stops at the nesting limit.
source self.gsh
