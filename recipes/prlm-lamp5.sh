# recipe: PrLM on LaMP-5 (scholarly titles): index, reward-model pairs, reward model, GRPO, eval table
# Values and their sources: recipes/README.md.
TASK=LaMP_5
source "$ROOT/recipes/prlm/stages.sh"
