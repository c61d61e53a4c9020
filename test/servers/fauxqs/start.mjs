// Resolves fauxqs from this folder's own node_modules.
export { startFauxqs } from 'fauxqs'
