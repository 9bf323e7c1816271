locals {
  name = "incident-tracker-preview"
}
