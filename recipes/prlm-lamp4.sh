# recipe: PrLM on LaMP-4 (news headlines): index, reward-model pairs, reward model, GRPO, eval table
# Values and their sources: recipes/README.md.
TASK=LaMP_4
source "$ROOT/recipes/prlm/stages.sh"
